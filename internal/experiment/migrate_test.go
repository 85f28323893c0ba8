package experiment_test

import (
	"encoding/base64"
	"encoding/hex"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/switchyard/switchyard/internal/experiment"
)

// TestStateInBucketsMovesToSideRecords: experiment state written by the
// bucket layout (studies/{key}/agg, studies/{key}/units/{8-byte hash})
// is moved to the side records and counted on from there.
func TestStateInBucketsMovesToSideRecords(t *testing.T) {
	r := newRig(t)
	r.start(t, abTest("ab"))
	r.send(t, r.exposure("u1", "on", "ab"), r.exposure("u2", "off", "ab"), r.track("u1", "purchase", -1))
	before := r.results(t, "ab")
	if err := r.st.Close(); err != nil {
		t.Fatal(err)
	}
	toBuckets(t, r.path)

	r.open(t)
	r.send(t, r.exposure("u3", "on", "ab"), r.exposure("u1", "on", "ab"))
	after := r.results(t, "ab")
	if got := units(after); got["on"] != 2 || got["off"] != 1 {
		t.Errorf("units after the move = %v, want on 2 (u1 kept, u3 new) and off 1; before it: %v", got, units(before))
	}
	conversions := func(res *experiment.Results) map[string]int64 {
		out := map[string]int64{}
		for _, v := range res.Metrics[0].Variants {
			out[v.Variant] = v.Conversions
		}
		return out
	}
	if got, want := conversions(after), conversions(before); got["on"] != 1 || got["on"] != want["on"] {
		t.Errorf("conversions after the move = %v, want those before it: %v (on: 1)", got, want)
	}
}

// toBuckets rewrites the experiment state of the closed file at path in
// the bucket layout.
func toBuckets(t *testing.T, path string) {
	t.Helper()
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.Update(func(tx *bolt.Tx) error {
		root := tx.Bucket([]byte("experiments"))
		studies, err := root.CreateBucket([]byte("studies"))
		if err != nil {
			return err
		}
		study := func(elem []byte) (*bolt.Bucket, error) {
			key, err := hex.DecodeString(string(elem))
			if err != nil {
				return nil, err
			}
			return studies.CreateBucketIfNotExists(key)
		}
		err = root.Bucket([]byte("aggs")).ForEach(func(k, v []byte) error {
			b, err := study(k)
			if err != nil {
				return err
			}
			return b.Put([]byte("agg"), v)
		})
		if err != nil {
			return err
		}
		err = root.Bucket([]byte("units")).ForEachBucket(func(k []byte) error {
			b, err := study(k)
			if err != nil {
				return err
			}
			units, err := b.CreateBucketIfNotExists([]byte("units"))
			if err != nil {
				return err
			}
			return root.Bucket([]byte("units")).Bucket(k).ForEach(func(unit, v []byte) error {
				hash, err := base64.RawURLEncoding.DecodeString(string(unit))
				if err != nil {
					return err
				}
				return units.Put(hash, v)
			})
		})
		if err != nil {
			return err
		}
		if err := root.DeleteBucket([]byte("aggs")); err != nil {
			return err
		}
		return root.DeleteBucket([]byte("units"))
	})
	if err != nil {
		t.Fatal(err)
	}
}
