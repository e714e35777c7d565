// The course's search: every section of every rendered lesson (assets/search-index.js, written
// by tools/build_site.py as a script, since pages opened from disk cannot fetch a JSON file).
// A section matches when its title or text holds every word typed; titles rank first.
(function () {
  const box = document.getElementById("site-search-box");
  const list = document.getElementById("site-search-results");
  if (!box || !list) return;
  function show(query) {
    const words = query.toLowerCase().split(/\s+/).filter(Boolean);
    list.replaceChildren();
    list.hidden = words.length === 0;
    if (list.hidden) return;
    const found = (window.COURSE_SEARCH || [])
      .map(s => ({s, title: s.title.toLowerCase(), all: (s.title + " " + s.text).toLowerCase()}))
      .filter(e => words.every(w => e.all.includes(w)))
      .sort((a, b) => words.filter(w => b.title.includes(w)).length
                      - words.filter(w => a.title.includes(w)).length)
      .slice(0, 20);
    if (!found.length) {
      const li = document.createElement("li");
      li.textContent = "Nothing found.";
      list.append(li);
    }
    for (const {s} of found) {
      const li = document.createElement("li");
      const a = document.createElement("a");
      a.href = s.page + (s.id ? "#" + s.id : "");
      a.textContent = s.title;
      const where = document.createElement("span");
      where.className = "where";
      where.textContent = s.lesson;
      li.append(a, where);
      list.append(li);
    }
  }
  box.addEventListener("input", () => show(box.value));
  box.addEventListener("keydown", e => { if (e.key === "Escape") { box.value = ""; show(""); } });
})();
