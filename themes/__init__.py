"""Tenant theming: tokens validated and rendered as CSS variables, built-in packs."""
