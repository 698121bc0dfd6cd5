"""Invoices per delivery and the creators' share of them."""
