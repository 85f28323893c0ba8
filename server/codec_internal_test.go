package server

import (
	"testing"

	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/switchyard/switchyard/internal/eval"
	sdkpb "github.com/switchyard/switchyard/internal/gen/switchyard/v1/sdkpb"
)

// nest returns v inside levels structs (odd levels) and lists (even ones).
func nest(v *structpb.Value, levels int) *structpb.Value {
	for i := range levels {
		if i%2 == 0 {
			v = structpb.NewStructValue(&structpb.Struct{Fields: map[string]*structpb.Value{"k": v}})
		} else {
			v = structpb.NewListValue(&structpb.ListValue{Values: []*structpb.Value{v}})
		}
	}
	return v
}

func TestContextCodec(t *testing.T) {
	codec := newContextCodec()
	shallow := &sdkpb.EvaluateRequest{Project: "p", Environment: "e", Flag: "f", Context: &structpb.Struct{Fields: map[string]*structpb.Value{
		"targetingKey": structpb.NewStringValue("u"),
		"n":            structpb.NewNumberValue(1.5),
		"b":            structpb.NewBoolValue(true),
		"z":            structpb.NewNullValue(),
		"o":            nest(structpb.NewStringValue("x"), 5),
	}}}
	deep := &sdkpb.EvaluateRequest{Project: "p", Environment: "e", Flag: "f", Context: &structpb.Struct{Fields: map[string]*structpb.Value{
		"targetingKey": structpb.NewStringValue("u"),
		"d":            nest(structpb.NewStringValue("x"), 9000),
	}}}
	for _, tc := range []struct {
		name     string
		msg      *sdkpb.EvaluateRequest
		wantDeep bool
	}{
		{"shallow context decodes as it is", shallow, false},
		{"deep context is cut but stays over the limit", deep, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data, err := proto.Marshal(tc.msg)
			if err != nil {
				t.Fatal(err)
			}
			var got sdkpb.EvaluateRequest
			if err := codec.Unmarshal(mem.BufferSlice{mem.SliceBuffer(data)}, &got); err != nil {
				t.Fatalf("Unmarshal = %v", err)
			}
			if got.GetFlag() != "f" || got.GetProject() != "p" || got.GetEnvironment() != "e" {
				t.Errorf("Unmarshal lost fields: %v", &got)
			}
			if !tc.wantDeep && !proto.Equal(&got, tc.msg) {
				t.Errorf("Unmarshal = %v, want %v", &got, tc.msg)
			}
			var ctx eval.Context
			err = contextFromStruct(&ctx, got.GetContext())
			if (err != nil) != tc.wantDeep {
				t.Errorf("contextFromStruct = %v, want an error: %v", err, tc.wantDeep)
			}
		})
	}
	t.Run("malformed message is an error", func(t *testing.T) {
		var got sdkpb.EvaluateRequest
		if err := codec.Unmarshal(mem.BufferSlice{mem.SliceBuffer([]byte{0x22, 0x05, 0x0a})}, &got); err == nil {
			t.Errorf("Unmarshal of a truncated context = nil error, want one")
		}
	})
}
