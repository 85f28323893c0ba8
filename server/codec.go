package server

import (
	"errors"
	"math"

	"google.golang.org/grpc/encoding"
	grpcproto "google.golang.org/grpc/encoding/proto"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/switchyard/switchyard/internal/eval"
)

// contextCodec is the gRPC server's codec: protobuf, except for a request
// whose google.protobuf.Struct field "context" nests deeper than the
// protobuf decoder's recursion limit (some 3,300 levels), which gRPC would
// fail as INTERNAL before the service sees it. Such a request is decoded
// with its context cut off one level below eval.MaxDepth, so that the
// service refuses it as nested too deep (INVALID_ARGUMENT, HTTP 400), like
// any context over the limit. It serves the REST gateway too, whose calls
// arrive over gRPC.
type contextCodec struct {
	encoding.CodecV2
}

// newContextCodec wraps gRPC's protobuf codec.
func newContextCodec() contextCodec {
	return contextCodec{CodecV2: encoding.GetCodecV2(grpcproto.Name)}
}

// Unmarshal decodes data into v as the protobuf codec does; see
// contextCodec for the one difference.
func (c contextCodec) Unmarshal(data mem.BufferSlice, v any) error {
	err := c.CodecV2.Unmarshal(data, v)
	if err == nil {
		return nil
	}
	msg, ok := v.(proto.Message)
	if !ok {
		return err
	}
	fd := msg.ProtoReflect().Descriptor().Fields().ByName("context")
	if fd == nil || fd.Message() == nil || fd.Message().FullName() != "google.protobuf.Struct" || fd.IsList() || fd.IsMap() {
		return err
	}
	buf := data.Materialize()
	if cutErr := unmarshalCutContext(buf, msg, fd); cutErr != nil {
		return err
	}
	return nil
}

// unmarshalCutContext decodes b into msg with the field fd decoded by
// cutStruct.
func unmarshalCutContext(b []byte, msg proto.Message, fd protoreflect.FieldDescriptor) error {
	var rest []byte
	ctx := &structpb.Struct{Fields: map[string]*structpb.Value{}}
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return protowire.ParseError(n)
		}
		m := protowire.ConsumeFieldValue(num, typ, b[n:])
		if m < 0 {
			return protowire.ParseError(m)
		}
		if num != fd.Number() || typ != protowire.BytesType {
			rest = append(rest, b[:n+m]...)
			b = b[n+m:]
			continue
		}
		// Repeated occurrences of a message field merge: their entries add up.
		v, _ := protowire.ConsumeBytes(b[n:])
		if err := cutStruct(v, 1, ctx); err != nil {
			return err
		}
		b = b[n+m:]
	}
	if err := proto.Unmarshal(rest, msg); err != nil {
		return err
	}
	msg.ProtoReflect().Set(fd, protoreflect.ValueOfMessage(ctx.ProtoReflect()))
	return nil
}

// errBadStruct reports a google.protobuf.Struct whose wire form is not one.
var errBadStruct = errors.New("malformed google.protobuf.Struct")

// cutStruct decodes the wire form b of a google.protobuf.Struct nesting at
// depth into st; a struct or list nesting deeper than eval.MaxDepth+1 is
// decoded as an empty struct, so that what nests that deep stays over the
// limit but nothing deeper is built.
func cutStruct(b []byte, depth int, st *structpb.Struct) error {
	return eachBytesField(b, func(num protowire.Number, entry []byte) error {
		if num != 1 { // fields
			return nil
		}
		key, val := "", &structpb.Value{}
		err := eachBytesField(entry, func(num protowire.Number, v []byte) error {
			switch num {
			case 1:
				key = string(v)
			case 2:
				return cutValue(v, depth+1, val)
			}
			return nil
		})
		st.Fields[key] = val
		return err
	})
}

// cutValue decodes the wire form b of a google.protobuf.Value nesting at
// depth into v, as cutStruct does.
func cutValue(b []byte, depth int, v *structpb.Value) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return errBadStruct
		}
		b = b[n:]
		switch {
		case num == 1 && typ == protowire.VarintType:
			_, n = protowire.ConsumeVarint(b)
			v.Kind = &structpb.Value_NullValue{}
		case num == 2 && typ == protowire.Fixed64Type:
			var x uint64
			x, n = protowire.ConsumeFixed64(b)
			v.Kind = &structpb.Value_NumberValue{NumberValue: math.Float64frombits(x)}
		case num == 3 && typ == protowire.BytesType:
			var s string
			s, n = protowire.ConsumeString(b)
			v.Kind = &structpb.Value_StringValue{StringValue: s}
		case num == 4 && typ == protowire.VarintType:
			var x uint64
			x, n = protowire.ConsumeVarint(b)
			v.Kind = &structpb.Value_BoolValue{BoolValue: x != 0}
		case (num == 5 || num == 6) && typ == protowire.BytesType:
			var inner []byte
			inner, n = protowire.ConsumeBytes(b)
			if n < 0 {
				return errBadStruct
			}
			st := &structpb.Struct{Fields: map[string]*structpb.Value{}}
			v.Kind = &structpb.Value_StructValue{StructValue: st}
			switch {
			case depth > eval.MaxDepth+1:
			case num == 5:
				if err := cutStruct(inner, depth, st); err != nil {
					return err
				}
			default:
				list := &structpb.ListValue{}
				v.Kind = &structpb.Value_ListValue{ListValue: list}
				if err := cutList(inner, depth, list); err != nil {
					return err
				}
			}
		default:
			n = protowire.ConsumeFieldValue(num, typ, b)
		}
		if n < 0 {
			return errBadStruct
		}
		b = b[n:]
	}
	return nil
}

// cutList decodes the wire form b of a google.protobuf.ListValue nesting
// at depth into list, as cutStruct does.
func cutList(b []byte, depth int, list *structpb.ListValue) error {
	return eachBytesField(b, func(num protowire.Number, e []byte) error {
		if num != 1 { // values
			return nil
		}
		v := &structpb.Value{}
		if err := cutValue(e, depth+1, v); err != nil {
			return err
		}
		list.Values = append(list.Values, v)
		return nil
	})
}

// eachBytesField calls fn with the number and contents of each
// length-delimited field of the wire form b, in order, skipping fields of
// other wire types; it stops at fn's first error.
func eachBytesField(b []byte, fn func(protowire.Number, []byte) error) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return errBadStruct
		}
		b = b[n:]
		if typ != protowire.BytesType {
			if n = protowire.ConsumeFieldValue(num, typ, b); n < 0 {
				return errBadStruct
			}
			b = b[n:]
			continue
		}
		v, n := protowire.ConsumeBytes(b)
		if n < 0 {
			return errBadStruct
		}
		b = b[n:]
		if err := fn(num, v); err != nil {
			return err
		}
	}
	return nil
}
