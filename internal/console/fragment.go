package console

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
)

// fragment renders the template named name of page's template set (a
// {{define}} in the page's file) as a bare HTML fragment for the live
// poller in console.js (elements with data-live="/fragments/…"). It sets
// an ETag computed from the fragment and answers 304 when the poller
// already has it, so an unchanged fragment costs almost nothing. Pages
// render the same template inside their layout, so the first paint and
// every refresh come from one place.
func (c *Console) fragment(w http.ResponseWriter, r *http.Request, page, name string, data any) {
	t, ok := c.pages[page]
	if !ok {
		c.log.Error("console: no template", "page", page)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, name, data); err != nil {
		c.log.Error("console: render fragment", "page", page, "fragment", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	sum := sha256.Sum256(buf.Bytes())
	etag := `"` + base64.RawURLEncoding.EncodeToString(sum[:16]) + `"`
	h := w.Header()
	h.Set("ETag", etag)
	h.Set("Cache-Control", "no-cache")
	if r.Header.Get("If-None-Match") == etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	h.Set("Content-Type", "text/html; charset=utf-8")
	w.Write(buf.Bytes())
}
