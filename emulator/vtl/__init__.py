"""API Gateway mapping templates (VTL), rendered offline with API Gateway's semantics."""

from emulator.vtl.engine import MappingTemplate, Rendered, TemplateError
from emulator.vtl.variables import RequestData

__all__ = ["MappingTemplate", "Rendered", "RequestData", "TemplateError"]
