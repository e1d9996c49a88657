"""The coalition and its billing: a tenant's partners in tiers (founding, associate).

Partners are shown on the tenant's consultation homes, by tier, with their logos. Agreements,
invoices and Stripe will hang on them.
"""
