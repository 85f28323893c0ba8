package server

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/switchyard/switchyard/internal/domain"
)

// The resource messages mirror the model's types field for field, with the
// same JSON names, so conversion goes through JSON: one mapping, kept by
// the protos and the model's tags, instead of hand-written copies.

// toProto fills msg from a model value.
func toProto(v any, msg proto.Message) error {
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %T: %w", v, err)
	}
	if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(data, msg); err != nil {
		return fmt.Errorf("convert %T: %w", v, err)
	}
	return nil
}

// fromProto fills a model value from msg. Fields the model lacks (etag,
// times) are ignored.
func fromProto(msg proto.Message, v any) error {
	data, err := (protojson.MarshalOptions{UseProtoNames: true}).Marshal(msg)
	if err != nil {
		return fmt.Errorf("encode %T: %w", msg, err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("convert %T: %w", msg, err)
	}
	return nil
}

// setMeta writes a resource's etag and times into msg's fields of those
// names, where it has them.
func setMeta(msg proto.Message, m domain.Meta) {
	r := msg.ProtoReflect()
	fields := r.Descriptor().Fields()
	if f := fields.ByName("etag"); f != nil {
		r.Set(f, protoreflect.ValueOfString(m.Etag))
	}
	if f := fields.ByName("create_time"); f != nil && !m.CreateTime.IsZero() {
		r.Set(f, protoreflect.ValueOfMessage(timestamppb.New(m.CreateTime).ProtoReflect()))
	}
	if f := fields.ByName("update_time"); f != nil && !m.UpdateTime.IsZero() {
		r.Set(f, protoreflect.ValueOfMessage(timestamppb.New(m.UpdateTime).ProtoReflect()))
	}
}

// outputOnly are fields a client never sets.
var outputOnly = map[protoreflect.Name]bool{"etag": true, "create_time": true, "update_time": true, "revision": true,
	"include_count": true, "exclude_count": true, "keys_hash": true}

// applyMask copies into dst the fields of src that mask names, leaving the
// others as they are: a nil mask names every settable field (a full
// replacement), an empty one none. A path names a top-level field, or one
// entry of a map field ("environments.production"); deeper paths (which the
// REST gateway derives from a PATCH body) replace the field or entry they
// are under. The key field is never changed, and output-only fields (etag,
// times, revision) are skipped: a PATCH body's "etag" is the update's
// precondition, not a change.
func applyMask(dst, src proto.Message, mask *fieldmaskpb.FieldMask) error {
	d, s := dst.ProtoReflect(), src.ProtoReflect()
	fields := d.Descriptor().Fields()
	paths := mask.GetPaths()
	if mask == nil {
		for i := 0; i < fields.Len(); i++ {
			if name := fields.Get(i).Name(); !outputOnly[name] && name != "key" {
				paths = append(paths, string(name))
			}
		}
	}
	for _, p := range paths {
		name, rest, _ := strings.Cut(p, ".")
		f := fields.ByName(protoreflect.Name(name))
		switch {
		case p == "": // the gateway's mask of an empty body
			continue
		case f != nil && rest == "" && (outputOnly[f.Name()] || f.Name() == "key"):
			continue // the key names the resource; the rest the server sets
		case f == nil || outputOnly[f.Name()] || f.Name() == "key":
			return invalidField("update_mask", "cannot update field %q", p)
		}
		if f.IsMap() && rest != "" {
			entry, _, _ := strings.Cut(rest, ".")
			k := protoreflect.ValueOfString(entry).MapKey()
			dm := d.Mutable(f).Map()
			if sm := s.Get(f).Map(); sm.Has(k) {
				dm.Set(k, sm.Get(k))
			} else {
				dm.Clear(k)
			}
			continue
		}
		if s.Has(f) {
			d.Set(f, s.Get(f))
		} else {
			d.Clear(f)
		}
	}
	return nil
}

// Paging: page tokens are opaque offsets into the ordered listing.

const (
	defaultPageSize = 100
	maxPageSize     = 1000
)

// page returns the slice of items a page request selects and the token of
// the next page ("" at the end).
func page[T any](items []T, size int32, token string) ([]T, string, error) {
	start := 0
	if token != "" {
		raw, err := base64.RawURLEncoding.DecodeString(token)
		n, err2 := strconv.Atoi(string(raw))
		if err != nil || err2 != nil || n < 0 || n > len(items) {
			return nil, "", invalidField("page_token", "is not a token this server issued")
		}
		start = n
	}
	switch {
	case size < 0:
		return nil, "", invalidField("page_size", "must not be negative")
	case size == 0:
		size = defaultPageSize
	case size > maxPageSize:
		size = maxPageSize
	}
	end := min(start+int(size), len(items))
	next := ""
	if end < len(items) {
		next = base64.RawURLEncoding.EncodeToString([]byte(strconv.Itoa(end)))
	}
	return items[start:end], next, nil
}
