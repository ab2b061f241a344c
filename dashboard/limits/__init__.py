"""Limits that stop one client from hurting the others: request budgets, connection caps,
and bounded, coalescing send backlogs for slow consumers. Imports nothing heavy."""
