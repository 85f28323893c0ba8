package eventlog

import (
	"errors"
	"math"
	"reflect"
	"testing"
	"time"
)

func codecBatch() *Batch {
	at := time.Date(2025, 3, 1, 12, 30, 0, 123456000, time.UTC)
	return &Batch{
		Project: "shop", Environment: "production", Received: at, SDKName: "go", SDKVersion: "1.0",
		Events: []Event{
			{Kind: Exposure, Time: at, Unit: "user-1", Flag: "f", Variant: "on", Rule: "eu", Revision: 1 << 40, Experiment: "x"},
			{Kind: Exposure, Time: at.Add(-time.Hour), Unit: "ü", Flag: "f"},
			{Kind: Track, Time: at, Unit: "user-1", Key: "buy", Value: -0.5, HasValue: true},
			{Kind: Track, Time: at, Unit: "user-2", Key: "signup"},
			{Kind: Track, Time: at, Unit: "user-3", Key: "max", Value: math.MaxFloat64, HasValue: true},
		},
	}
}

func TestEventBatchRoundTrip(t *testing.T) {
	want := codecBatch()
	data := AppendBatch(nil, want)
	got, err := DecodeBatch(data)
	if err != nil {
		t.Fatalf("DecodeBatch() = %v", err)
	}
	if !reflect.DeepEqual(&got, want) {
		t.Errorf("DecodeBatch() = %+v, want %+v", got, want)
	}
	received, err := BatchReceived(data)
	if err != nil || !received.Equal(want.Received) {
		t.Errorf("BatchReceived() = %v, %v, want %v", received, err, want.Received)
	}
}

func TestDecodeEventBatchRejectsCorruptInput(t *testing.T) {
	good := AppendBatch(nil, codecBatch())
	tests := []struct {
		name string
		data []byte
	}{
		{"empty", nil},
		{"unknown version", append([]byte{9}, good[1:]...)},
		{"truncated", good[:len(good)-3]},
		{"trailing bytes", append(append([]byte{}, good...), 0)},
		{"huge count", []byte{codecVersion, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0x0f}},
		{"unknown kind", []byte{codecVersion, 0, 0, 0, 0, 0, 1, 7, 0, 0, 0, 0}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := DecodeBatch(tc.data); !errors.Is(err, errCorrupt) {
				t.Errorf("DecodeBatch(%x) = %v, want errCorrupt", tc.data, err)
			}
		})
	}
}

func FuzzDecodeEventBatch(f *testing.F) {
	f.Add(AppendBatch(nil, codecBatch()))
	f.Add(AppendBatch(nil, &Batch{}))
	f.Add([]byte{codecVersion})
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := DecodeBatch(data)
		if err != nil {
			return
		}
		again, err := DecodeBatch(AppendBatch(nil, &b))
		if err != nil || !reflect.DeepEqual(again, b) {
			t.Errorf("re-encoding %+v decodes to %+v, %v", b, again, err)
		}
	})
}
