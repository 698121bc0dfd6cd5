"""Machine-readable rights signals for crawlers (AI Preferences, Content Signals, RSL, TDMRep,
robots.txt, X-Robots-Tag), generated from the licenses and the consent rule."""
