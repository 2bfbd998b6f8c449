import pytest

from emmaus.catalog import CatalogError, load_catalog, parse_catalog

ENTRY = """
[[models]]
id = "{id}"
family = "{family}"
tier = {tier}
provider = "openai"
base_url = "http://127.0.0.1:9/v1/"
context_window = 4096
"""


def test_builtin_catalog_is_the_embedded_model() -> None:
    catalog = load_catalog()
    (spec,) = list(catalog)
    assert spec.provider == "local"
    assert spec.family_display == "Open Source"
    assert {"tools", "streaming", "json"} <= spec.capabilities
    public = spec.to_public()
    assert public["id"] == spec.id
    assert public["family"] == "Open Source"
    assert public["context_window"] == spec.context_window
    assert "path" not in public and "base_url" not in public


def test_defaults_and_normalisation() -> None:
    spec = next(iter(parse_catalog(ENTRY.format(id="m", family="Open_Source", tier=2))))
    assert spec.family == "open source"
    assert spec.base_url == "http://127.0.0.1:9/v1"
    assert spec.upstream_model == "m"
    assert spec.max_output_tokens == 2048


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("not toml [", "not valid TOML"),
        ("x = 1", r"expected \[\[models\]\]"),
        ("models = []", "no models"),
        (ENTRY.format(id="m", family="ibm", tier=1), "family must be one of"),
        (ENTRY.format(id="m", family="openai", tier=4), "tier"),
        (ENTRY.format(id="m", family="openai", tier=1) * 2, "appears twice"),
        (
            '[[models]]\nid="x"\nfamily="openai"\ntier=1\nprovider="openai"\ncontext_window=4096',
            "base_url",
        ),
    ],
)
def test_bad_catalogs_are_rejected(text: str, message: str) -> None:
    with pytest.raises(CatalogError, match=message):
        parse_catalog(text)


def test_missing_file(tmp_path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(CatalogError, match="cannot read"):
        load_catalog(tmp_path / "nope.toml")
