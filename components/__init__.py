"""The Pulumi ComponentResources of the stack, one per module; every decision they apply comes
from ``core``."""
