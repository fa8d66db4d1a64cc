"""Where a page's links lead (scraper.extract.site): the finder tells teasers, which lead to the site's
own stories, from a listicle's items and citations, which lead elsewhere or into the page."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scraper.extract import extract
from scraper.extract.site import Leads, Site, site_key
from tests.article_pages import paragraphs


def test_a_sites_subdomains_are_one_site() -> None:
    assert site_key("news.example.com") == site_key("www.example.com") == "example.com"


def test_a_country_registrys_second_level_is_not_the_site() -> None:
    assert site_key("news.bbc.co.uk") == "bbc.co.uk"
    assert site_key("www.folha.com.br") == "folha.com.br"
    assert site_key("bbc.co.uk") != site_key("guardian.co.uk")
    assert site_key("www.zaobao.com.sg") == site_key("zaobao.com.sg") == "zaobao.com.sg"


@pytest.mark.parametrize("site", ["orf.at", "srf.ch", "nos.nl", "svt.se", "taz.de", "dr.dk", "abc.es"])
def test_a_short_site_name_under_a_country_domain_is_the_site(site: str) -> None:
    assert site_key(f"www.{site}") == site_key(f"news.{site}") == site_key(site) == site
    assert Site(f"https://www.{site}/a").leads(f"https://{site}/b") is Leads.OWN


def test_links_lead_to_the_site_elsewhere_or_here() -> None:
    site = Site("https://www.example.com/2026/story")
    assert site.leads("https://sport.example.com/other") is Leads.OWN
    assert site.leads("//cdn.other.org/x") is Leads.ELSEWHERE
    assert site.leads("https://shop.example.net/p1") is Leads.ELSEWHERE
    assert site.leads("#section-2") is Leads.HERE
    assert site.leads("mailto:desk@example.com") is Leads.UNKNOWN


def test_without_an_address_no_link_is_judged_by_where_it_leads() -> None:
    assert Site().leads("/other") is Leads.UNKNOWN
    assert Site(None, "").leads("https://example.com/x") is Leads.UNKNOWN


def test_the_declared_address_names_the_site_of_a_page_fetched_elsewhere() -> None:
    site = Site("http://mirror.test/page.html", "https://www.example.com/story")
    assert site.leads("https://example.com/other-story") is Leads.OWN


@given(st.from_regex(r"\A/(?:[a-z0-9_-][a-z0-9/_-]{0,30})?\Z"))  # not "//host": that names a host
def test_a_relative_address_stays_on_the_site(path: str) -> None:
    assert Site("https://news.example/2026/story").leads(path) is Leads.OWN


def _page(href: str) -> str:
    items = "".join(
        f"<div class='item'><h2><a href='{href}{n}'>{n}. The thing number {n}</a></h2>"
        f"<p>Thing {n}: the mayor said, after the vote, that the plan would go ahead, and crews began work."
        " More on it: costs rose, critics said, and the work, for now, goes on.</p></div>"
        for n in range(5)
    )
    body = f"<div class='body'><h1>T</h1>{paragraphs('Intro', 6)}</div>"
    return f"<html><body><div class='wrap'>{body}<div class='list'>{items}</div></div></body></html>"


def test_wrapped_items_whose_headings_lead_elsewhere_are_the_articles() -> None:
    text = extract(_page("https://shop.example/p"), "https://news.example/2026/story").text
    assert "Intro paragraph 5" in text and "Thing 0:" in text and "Thing 4:" in text


def test_wrapped_items_whose_headings_lead_to_the_sites_stories_are_teasers() -> None:
    text = extract(_page("https://www.news.example/2026/other-"), "https://news.example/2026/story").text
    assert "Intro paragraph 5" in text and "Thing 0:" not in text


def test_wrapped_items_whose_headings_lead_into_the_page_are_the_articles() -> None:
    text = extract(_page("#part-"), "https://news.example/2026/story").text
    assert "Thing 0:" in text and "Thing 4:" in text
