"""The rules of the stage's web ACL (``api.waf``), in priority order: what the stack deploys, what
the dashboard charts and what the local runtime emulates (the rate rule only; AWS's managed rule
groups are AWS's own, unpublished rules, named as not emulated when the local API starts).

AWS managed rule groups: "AWSManagedRulesCommonRuleSet" (the core rule set: common
vulnerabilities, oversized bodies) and "AWSManagedRulesKnownBadInputsRuleSet" (request patterns
known to be invalid or used in exploits), AWS WAF Developer Guide, "AWS Managed Rules rule groups
list". A request a rule blocks gets API Gateway's 403 ``{"message":"Forbidden"}``.
"""

from __future__ import annotations

from dataclasses import dataclass

ACL_METRIC = "ratings-web-acl"
RATE_RULE = "ratings-rate-per-ip"
RATE_WINDOW_S = 300


@dataclass(frozen=True)
class Rule:
    name: str
    managed: bool  # an AWS managed rule group (its own actions), else the rate rule (block)

    @property
    def metric(self) -> str:
        return self.name


RULES = (Rule("AWSManagedRulesCommonRuleSet", managed=True),
         Rule("AWSManagedRulesKnownBadInputsRuleSet", managed=True),
         Rule(RATE_RULE, managed=False))
