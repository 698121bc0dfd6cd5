"""A synthetic platform to demonstrate and test Consentry on."""
