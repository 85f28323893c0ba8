package domain

import (
	"errors"
	"math"
	"reflect"
	"testing"
	"time"
)

func codecBatch() *EventBatch {
	at := time.Date(2025, 3, 1, 12, 30, 0, 123456000, time.UTC)
	return &EventBatch{
		Project: "shop", Environment: "production", Received: at, SDKName: "go", SDKVersion: "1.0",
		Events: []Event{
			{Kind: EventExposure, Time: at, Unit: "user-1", Flag: "f", Variant: "on", Rule: "eu", Revision: 1 << 40, Experiment: "x"},
			{Kind: EventExposure, Time: at.Add(-time.Hour), Unit: "ü", Flag: "f"},
			{Kind: EventTrack, Time: at, Unit: "user-1", Key: "buy", Value: -0.5, HasValue: true},
			{Kind: EventTrack, Time: at, Unit: "user-2", Key: "signup"},
			{Kind: EventTrack, Time: at, Unit: "user-3", Key: "max", Value: math.MaxFloat64, HasValue: true},
		},
	}
}

func TestEventBatchRoundTrip(t *testing.T) {
	want := codecBatch()
	data := appendEventBatch(nil, want)
	got, err := decodeEventBatch(data)
	if err != nil {
		t.Fatalf("decodeEventBatch() = %v", err)
	}
	if !reflect.DeepEqual(&got, want) {
		t.Errorf("decodeEventBatch() = %+v, want %+v", got, want)
	}
	received, err := batchReceived(data)
	if err != nil || !received.Equal(want.Received) {
		t.Errorf("batchReceived() = %v, %v, want %v", received, err, want.Received)
	}
}

func TestDecodeEventBatchRejectsCorruptInput(t *testing.T) {
	good := appendEventBatch(nil, codecBatch())
	tests := []struct {
		name string
		data []byte
	}{
		{"empty", nil},
		{"unknown version", append([]byte{9}, good[1:]...)},
		{"truncated", good[:len(good)-3]},
		{"trailing bytes", append(append([]byte{}, good...), 0)},
		{"huge count", []byte{eventCodecVersion, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0x0f}},
		{"unknown kind", []byte{eventCodecVersion, 0, 0, 0, 0, 0, 1, 7, 0, 0, 0, 0}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := decodeEventBatch(tc.data); !errors.Is(err, errCorruptBatch) {
				t.Errorf("decodeEventBatch(%x) = %v, want errCorruptBatch", tc.data, err)
			}
		})
	}
}

func FuzzDecodeEventBatch(f *testing.F) {
	f.Add(appendEventBatch(nil, codecBatch()))
	f.Add(appendEventBatch(nil, &EventBatch{}))
	f.Add([]byte{eventCodecVersion})
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := decodeEventBatch(data)
		if err != nil {
			return
		}
		again, err := decodeEventBatch(appendEventBatch(nil, &b))
		if err != nil || !reflect.DeepEqual(again, b) {
			t.Errorf("re-encoding %+v decodes to %+v, %v", b, again, err)
		}
	})
}
