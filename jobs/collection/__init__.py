"""収納 (collection): the 調定 ledger, 消込 over the payment channels, 口座振替, 還付・充当.

See README.md in this folder for the contract between the modules.
"""
