"""Pure rules and types: the consent rule, policy defaults, license scope. No I/O."""
