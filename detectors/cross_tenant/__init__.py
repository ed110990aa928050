"""cross_tenant: an actor touches records of a tenant they are not assigned to."""

from detectors.cross_tenant.config import NAME, CrossTenantConfig
from detectors.cross_tenant.detector import RULES, CrossTenant

CONFIG, DETECTOR = CrossTenantConfig, CrossTenant  # what the catalog builds

__all__ = ["CONFIG", "DETECTOR", "NAME", "RULES", "CrossTenant", "CrossTenantConfig"]
