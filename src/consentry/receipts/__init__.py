"""Consent receipts: why a delivered record was delivered (``explain``), and each consent
decision as a signed ISO/IEC TS 27560 record in DPV terms (``records``)."""
