package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"

	"github.com/switchyard/switchyard/internal/keylist"
	"github.com/switchyard/switchyard/internal/model"
)

// Documents with long key lists (over keylist.ChunkThreshold keys) travel
// to and from the server in parts, never as one request or answer over
// the API's 4 MiB cap:
//
//   - import posts the document without its long lists as the "request"
//     part of POST /api/v1/documents:import-stream, then each long list as
//     a part of its own, streamed; the server applies them all in one
//     transaction;
//   - export reads the document (the server leaves the long lists out and
//     gives their counts), then streams each long list from its text
//     download straight into the output, in place.

// importAnswer is the server's ImportDocumentResponse.
type importAnswer struct {
	Created   int               `json:"created"`
	Updated   int               `json:"updated"`
	Deleted   int               `json:"deleted"`
	Unchanged int               `json:"unchanged"`
	Revisions map[string]string `json:"revisions"`
}

// longList is one list of a document that travels in a part of its own.
type longList struct {
	segment, list string
	keys          []string
}

// importDocument applies doc: in one JSON request when it has no long
// list, else streamed in parts.
func importDocument(ctx context.Context, c *apiClient, doc *model.Document, prune, dryRun bool) (importAnswer, error) {
	var out importAnswer
	small, lists := splitLongLists(doc)
	request := map[string]any{"document": small, "prune": prune, "dry_run": dryRun}
	if len(lists) == 0 {
		return out, c.do(ctx, http.MethodPost, "/api/v1/documents:import", request, &out)
	}
	head, err := json.Marshal(request)
	if err != nil {
		return out, fmt.Errorf("encode request: %w", err)
	}
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() { pw.CloseWithError(writeImportParts(mw, head, lists)) }()
	path := "/api/v1/documents:import-stream"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+path, pr)
	if err != nil {
		return out, err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	// An upload takes as long as it takes: no client timeout.
	err = c.send(&http.Client{Transport: c.http.Transport}, req, &out)
	pr.CloseWithError(io.ErrClosedPipe) // ends the writer if the server answered early
	return out, err
}

// splitLongLists returns doc without its lists longer than
// keylist.ChunkThreshold (a shallow copy; doc is unchanged) and those
// lists.
func splitLongLists(doc *model.Document) (*model.Document, []longList) {
	var lists []longList
	small := *doc
	small.Segments = make([]*model.Segment, len(doc.Segments))
	for i, sg := range doc.Segments {
		c := *sg
		if len(sg.Include) > keylist.ChunkThreshold {
			lists = append(lists, longList{sg.Key, "include", sg.Include})
			c.Include = nil
		}
		if len(sg.Exclude) > keylist.ChunkThreshold {
			lists = append(lists, longList{sg.Key, "exclude", sg.Exclude})
			c.Exclude = nil
		}
		small.Segments[i] = &c
	}
	return &small, lists
}

// writeImportParts writes the request part, then one part per list.
func writeImportParts(mw *multipart.Writer, head []byte, lists []longList) error {
	if err := mw.WriteField("request", string(head)); err != nil {
		return err
	}
	for _, l := range lists {
		w, err := mw.CreateFormFile("segments/"+l.segment+"/"+l.list, l.segment+"-"+l.list+".txt")
		if err != nil {
			return err
		}
		bw := bufio.NewWriterSize(w, 64<<10)
		for _, k := range l.keys {
			bw.WriteString(k)
			bw.WriteByte('\n')
		}
		if err := bw.Flush(); err != nil {
			return err
		}
	}
	return mw.Close()
}

// exportDocument writes the project's document to w in format, the long
// lists streamed from the server into their places.
func exportDocument(ctx context.Context, c *apiClient, project, format string, w io.Writer) error {
	var raw json.RawMessage
	if err := c.do(ctx, http.MethodGet, "/api/v1/projects/"+url.PathEscape(project)+":export", nil, &raw); err != nil {
		return err
	}
	raw, lists, err := leftOutLists(raw)
	if err != nil {
		return fmt.Errorf("decode exported document: %w", err)
	}
	doc, err := model.Parse(raw)
	if err != nil {
		return fmt.Errorf("decode exported document: %w", err)
	}
	// Each long list is a one-key placeholder in the encoded document,
	// replaced by the streamed keys as it is written out.
	var nonce [8]byte
	rand.Read(nonce[:])
	marks := make([]string, len(lists))
	segs := map[string]*model.Segment{}
	for _, sg := range doc.Segments {
		segs[sg.Key] = sg
	}
	for i, l := range lists {
		marks[i] = fmt.Sprintf("switchyard-list-%s-%d", hex.EncodeToString(nonce[:]), i)
		if sg := segs[l.segment]; sg != nil && l.list == "include" {
			sg.Include = []string{marks[i]}
		} else if sg != nil {
			sg.Exclude = []string{marks[i]}
		}
	}
	out, err := model.Encode(doc, format)
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	for i, l := range lists {
		at, token := markAt(out, marks[i])
		if at < 0 {
			return fmt.Errorf("export: list %s/%s has no place in the encoded document", l.segment, l.list)
		}
		bw.Write(out[:at])
		indent := lineIndent(out, at) + "  "
		if err := c.streamList(ctx, project, l, indent, bw); err != nil {
			return err
		}
		out = out[at+len(token):]
	}
	bw.Write(out)
	return bw.Flush()
}

// leftOutLists finds the segments of an exported document whose long
// lists the server left out (they carry include_count or exclude_count
// instead), and returns the document without those counts with the lists
// to fetch.
func leftOutLists(raw []byte) ([]byte, []longList, error) {
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, nil, err
	}
	segs, _ := doc["segments"].([]any)
	var lists []longList
	for _, s := range segs {
		sg, _ := s.(map[string]any)
		if sg == nil {
			continue
		}
		key, _ := sg["key"].(string)
		for _, list := range []string{"include", "exclude"} {
			n := fmt.Sprint(sg[list+"_count"])
			have, _ := sg[list].([]any)
			if sg[list+"_count"] != nil && n != "0" && len(have) == 0 {
				lists = append(lists, longList{segment: key, list: list})
			}
		}
		delete(sg, "include_count")
		delete(sg, "exclude_count")
		delete(sg, "keys_hash")
	}
	out, err := json.Marshal(doc)
	return out, lists, err
}

// markAt returns where mark's one-element list ([mark] in YAML,
// ["mark"] in JSON) is in out, and that text; -1 if it is not.
func markAt(out []byte, mark string) (int, string) {
	for _, token := range []string{`["` + mark + `"]`, "[" + mark + "]"} {
		if at := bytes.Index(out, []byte(token)); at >= 0 {
			return at, token
		}
	}
	return -1, ""
}

// lineIndent returns the leading spaces of the line holding position at.
func lineIndent(out []byte, at int) string {
	start := bytes.LastIndexByte(out[:at], '\n') + 1
	n := 0
	for start+n < at && out[start+n] == ' ' {
		n++
	}
	return strings.Repeat(" ", n)
}

// streamList writes one list as a flow sequence of JSON strings (valid
// YAML and JSON), one key a line, reading it from the server's text
// download as it goes.
func (c *apiClient) streamList(ctx context.Context, project string, l longList, indent string, w *bufio.Writer) error {
	path := "/api/v1/projects/" + url.PathEscape(project) + "/segments/" + url.PathEscape(l.segment) + "/keys/" + l.list
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+path, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Accept", "text/plain")
	resp, err := (&http.Client{Transport: c.http.Transport}).Do(req)
	if err != nil {
		return fmt.Errorf("GET %s: %w", path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		data, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		e := &apiError{Method: http.MethodGet, Path: path, Status: resp.Status, Body: data}
		if json.Unmarshal(data, e) != nil {
			e.Message = ""
		}
		return e
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	w.WriteString("[")
	first := true
	for sc.Scan() {
		q, _ := json.Marshal(sc.Text())
		if !first {
			w.WriteByte(',')
		}
		first = false
		w.WriteString("\n" + indent)
		w.Write(q)
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("GET %s: %w", path, err)
	}
	w.WriteString("\n" + indent + "]")
	return nil
}
