"""JUnit XML: each rule is a test case, each finding a failure of it.

CI systems that only read test reports (Jenkins, GitLab, Azure DevOps) then
list the gates that failed next to the unit tests.  A rule without findings
is a passing test case; errors that kept gatecheck from checking everything
are ``<error>``s of a test case named ``gatecheck``.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from gatecheck.engine import RunResult
from gatecheck.findings import Finding
from gatecheck.report import rule_catalogue
from gatecheck.report.text import location

#: Characters XML 1.0 cannot carry even as references.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _xml_text(text: str) -> str:
    return _NOT_XML.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def render(result: RunResult) -> str:
    by_rule: dict[str, list[Finding]] = {}
    for f in result.findings:
        by_rule.setdefault(f.rule, []).append(f)
    rules = rule_catalogue(result)
    failed = sum(1 for rule in rules if rule.id in by_rule)

    suites = ET.Element("testsuites", name="gatecheck")
    suite = ET.SubElement(suites, "testsuite", name="gatecheck")
    for rule in rules:
        case = ET.SubElement(suite, "testcase", classname=rule.kind, name=rule.id)
        for f in by_rule.get(rule.id, []):
            failure = ET.SubElement(case, "failure", message=_xml_text(f.message),
                                    type=f.severity.label)
            failure.text = _xml_text(f"{location(f)}: {f.message}")
    if result.errors:
        case = ET.SubElement(suite, "testcase", classname="gatecheck", name="gatecheck")
        for error in result.errors:
            element = ET.SubElement(case, "error", message=_xml_text(error.message),
                                    type=type(error).__name__)
            element.text = _xml_text(str(error))
    tests = len(rules) + (1 if result.errors else 0)
    counts = {"tests": str(tests), "failures": str(failed),
              "errors": str(1 if result.errors else 0), "skipped": "0"}
    for element in (suites, suite):
        element.attrib.update(counts)
    ET.indent(suites)
    body = ET.tostring(suites, encoding="unicode")
    return f'<?xml version="1.0" encoding="UTF-8"?>\n{body}\n'
