package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// listPageSize is the page size the list commands ask for: the API's
// largest.
const listPageSize = 1000

// listAll pages through a list route of the REST API (path may carry a
// query) and returns one answer holding the items of every page under
// field, the repeated field the route answers with ("flags"), decoded
// into out as well. The answer keeps the API's JSON form, so --output json
// prints what a one-page answer would have been.
func (c *cli) listAll(ctx context.Context, path, field string, out proto.Message) (json.RawMessage, error) {
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	items := []json.RawMessage{}
	token := ""
	for {
		p := fmt.Sprintf("%s%spage_size=%d", path, sep, listPageSize)
		if token != "" {
			p += "&page_token=" + url.QueryEscape(token)
		}
		raw, err := c.call(ctx, http.MethodGet, p, nil, nil)
		if err != nil {
			return nil, err
		}
		var page map[string]json.RawMessage
		if err := json.Unmarshal(raw, &page); err != nil {
			return nil, fmt.Errorf("GET %s: decode answer: %w", p, err)
		}
		var these []json.RawMessage
		if v, ok := page[field]; ok {
			if err := json.Unmarshal(v, &these); err != nil {
				return nil, fmt.Errorf("GET %s: decode %s: %w", p, field, err)
			}
		}
		items = append(items, these...)
		if err := json.Unmarshal(page["next_page_token"], &token); err != nil || token == "" {
			break
		}
	}
	raw, err := json.Marshal(map[string][]json.RawMessage{field: items})
	if err != nil {
		return nil, err
	}
	if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(raw, out); err != nil {
		return nil, fmt.Errorf("GET %s: decode answer: %w", path, err)
	}
	return raw, nil
}

// withQuery returns path with the non-empty values of kv (name, value, …)
// appended as an escaped query.
func withQuery(path string, kv ...string) string {
	q := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] != "" {
			q.Set(kv[i], kv[i+1])
		}
	}
	if len(q) == 0 {
		return path
	}
	return path + "?" + q.Encode()
}
