# Billing: partner tiers, agreements, invoices, Stripe — not built yet (see issues).
