"""Intermediation trees: validation, chains, profitability and welfare pricing."""
