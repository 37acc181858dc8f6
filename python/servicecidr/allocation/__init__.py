"""Allocation across ServiceCIDRs (the MetaAllocator) and the Service IP-family rules."""
