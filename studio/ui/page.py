"""What the page does in the browser beyond gradio's components: a script in the page's head.

- Ctrl+Enter (Cmd+Enter) presses the primary button of the tab being used.
- Examples tables get their column headers translated: gradio 6.31 writes a
  table's headers as raw i18n keys (`__i18n__{"key": "txt_text", ...}`) where
  labels elsewhere are translated; the script replaces them with the label in
  the browser's language (French when it asks for French, else English).
"""

from __future__ import annotations

import json

SCRIPT = """
<script>
(() => {
  const labels = %(labels)s;
  const table = labels[(navigator.language || "en").toLowerCase().startsWith("fr") ? "fr" : "en"];
  const marker = "__i18n__";
  function translate(root) {
    for (const cell of root.querySelectorAll("th, thead td, .table th")) {
      const text = cell.textContent.trim();
      if (!text.startsWith(marker)) continue;
      try {
        const key = JSON.parse(text.slice(marker.length)).key;
        cell.textContent = table[key] || labels.en[key] || key;
      } catch (error) { /* not a key: leave it */ }
    }
  }
  new MutationObserver(() => translate(document)).observe(document.documentElement, {childList: true, subtree: true});
  document.addEventListener("keydown", (event) => {
    if (event.key !== "Enter" || !(event.ctrlKey || event.metaKey)) return;
    const visible = (element) => element.offsetParent !== null;
    const panels = [...document.querySelectorAll("[role=tabpanel]")].filter(visible);
    const active = document.activeElement && document.activeElement.closest("[role=tabpanel]");
    const panel = active && visible(active) ? active : panels[panels.length - 1];
    const button = panel && [...panel.querySelectorAll("button.primary")].find(visible);
    if (button) { event.preventDefault(); button.click(); }
  });
})();
</script>
"""


def head(labels) -> str:
    """The `<script>` for `gr.Blocks(head=...)`; `labels` is the app's `gr.I18n`."""
    tables = {language: dict(labels.translations.get(language, {})) for language in ("en", "fr")}
    return SCRIPT % {"labels": json.dumps(tables, ensure_ascii=False).replace("</", "<\\/")}
