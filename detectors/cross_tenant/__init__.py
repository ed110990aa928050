"""cross_tenant: an actor touches records of a tenant they are not assigned to."""

from detectors.cross_tenant.detector import NAME, CrossTenant, CrossTenantConfig

__all__ = ["NAME", "CrossTenant", "CrossTenantConfig"]
