"""The demo province: agencies, units, people and sample documents."""
