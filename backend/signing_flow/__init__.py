"""The leader's signing flow: drafts, the "Chờ ký" queue, signing transactions, issuance."""
