# Sphinx configuration of the mtif book (built by `mtif docs`; see nbs/98_book.ipynb). Pure Python: Sphinx, myst-nb and
# sphinx-book-theme and sphinx-mathjax-offline, whose assets (MathJax included) ship in their wheels; nothing is fetched at build time.
project = "mtif"
author = "the mtif developers"
copyright = "2026, the mtif developers"
extensions = ["myst_nb", "sphinx.ext.autodoc", "sphinx.ext.mathjax", "sphinx-mathjax-offline"]   # MathJax from the wheel, not a CDN
nb_execution_mode = "off"                 # chapters arrive executed: module chapters in quick mode, experiments from their full runs
myst_enable_extensions = ["dollarmath", "amsmath"]
myst_dmath_double_inline = True          # `$$...$$` inside a paragraph is display math (the chapters write it so); by default myst refuses it
myst_heading_anchors = 3
html_theme = "sphinx_book_theme"
html_title = "mtif: data attribution for multitask learning"
html_theme_options = {"show_toc_level": 2}
autodoc_default_options = {"members": True, "undoc-members": False}
autodoc_typehints = "none"
exclude_patterns = ["_build", "**.ipynb_checkpoints"]
suppress_warnings = ["myst.header", "mystnb.unknown_mime_type", "misc.highlighting_failure"]
html_static_path = ["_static"]            # written by build_book: mtif.css (code and outputs wrap instead of scrolling)
html_css_files = ["mtif.css"]
