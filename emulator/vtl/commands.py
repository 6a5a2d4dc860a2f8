"""``ratings vtl render``: the console's test harness for mapping templates, offline."""

from __future__ import annotations

import json
import urllib.parse
from pathlib import Path

import click

from emulator.vtl import MappingTemplate, RequestData, TemplateError


def _pairs(values: tuple[str, ...], option: str) -> dict[str, str]:
    pairs = {}
    for value in values:
        name, separator, text = value.partition("=")
        if not separator or not name:
            raise click.BadParameter(f"{value!r} is not NAME=VALUE", param_hint=option)
        pairs[name] = text
    return pairs


def _query(text: str | None) -> dict[str, str]:
    """A query string as API Gateway reads it: '&'-separated, URL-decoded, last value wins."""
    return dict(urllib.parse.parse_qsl(text or "", keep_blank_values=True))


@click.group("vtl")
def vtl_group() -> None:
    """API Gateway mapping templates."""


@vtl_group.command("render")
@click.argument("template", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--path", "path_params", multiple=True, metavar="NAME=VALUE", help="A path parameter.")
@click.option("--query", metavar="QUERY", help="The query string, e.g. 'items=101,131,162&'.")
@click.option("--header", "headers", multiple=True, metavar="NAME=VALUE", help="A request header.")
@click.option("--stage-var", "stage_vars", multiple=True, metavar="NAME=VALUE", help="A stage variable.")
@click.option("--context", "context", multiple=True, metavar="NAME=VALUE",
              help="A $context value (stage, requestId, httpMethod ...).")
@click.option("--body", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Body file: the client's for a request template, the model's for a response template.")
@click.option("--pretty", is_flag=True, help="Indent the output when it is JSON.")
def render_command(template: Path, path_params, query, headers, stage_vars, context, body, pretty) -> None:
    """Render TEMPLATE as API Gateway would and print the result (overrides go to stderr)."""
    request = RequestData(
        path=_pairs(path_params, "--path"),
        querystring=_query(query),
        headers=_pairs(headers, "--header"),
        body=body.read_text(encoding="utf-8") if body else "",
        stage_variables=_pairs(stage_vars, "--stage-var"),
        context={"stage": "local", "httpMethod": "GET", "requestId": "test-invoke-request",
                 **_pairs(context, "--context")},
    )
    try:
        rendered = MappingTemplate.from_file(template).render(request)
    except (TemplateError, UnicodeDecodeError) as error:
        raise click.ClickException(str(error)) from None
    output = rendered.body
    if pretty:
        try:
            output = json.dumps(json.loads(output), indent=2, ensure_ascii=False) + "\n"
        except json.JSONDecodeError:
            click.echo("note: the output is not JSON", err=True)
    click.echo(output, nl=False)
    _report_overrides(rendered)


def _report_overrides(rendered) -> None:
    for kind, values in (("request header", rendered.request_headers),
                         ("request querystring", rendered.request_querystring),
                         ("request path", rendered.request_path),
                         ("response header", rendered.response_headers)):
        for name, value in values.items():
            click.echo(f"override {kind} {name}: {value}", err=True)
    if rendered.status is not None:
        click.echo(f"override response status: {rendered.status}", err=True)
