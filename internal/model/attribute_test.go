package model

import (
	"reflect"
	"testing"
)

func TestAttributeKeys(t *testing.T) {
	tests := []struct {
		ref     string
		want    []string
		wantErr bool
	}{
		{ref: "plan", want: []string{"plan"}},
		{ref: "user.plan", want: []string{"user.plan"}},
		{ref: "a~b", want: []string{"a~b"}},
		{ref: "targetingKey", want: []string{"targetingKey"}},
		{ref: "/plan", want: []string{"plan"}},
		{ref: "/user/plan", want: []string{"user", "plan"}},
		{ref: "/a~1b/x", want: []string{"a/b", "x"}},
		{ref: "/m~0n", want: []string{"m~n"}},
		{ref: "/~01", want: []string{"~1"}},
		{ref: "/~10", want: []string{"/0"}},
		{ref: "/", want: []string{""}},
		{ref: "/a//b", want: []string{"a", "", "b"}},
		{ref: "/a/", want: []string{"a", ""}},
		{ref: "/a~", wantErr: true},
		{ref: "/a~2", wantErr: true},
		{ref: "/ok/~x", wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.ref, func(t *testing.T) {
			got, err := AttributeKeys(tc.ref)
			if (err != nil) != tc.wantErr || !reflect.DeepEqual(got, tc.want) {
				t.Errorf("AttributeKeys(%q) = %q, %v; want %q, error %v", tc.ref, got, err, tc.want, tc.wantErr)
			}
		})
	}
}

func TestValidateReleaseBucketByPointer(t *testing.T) {
	r := &Release{ID: "spring", Environment: "production", BucketBy: "/user/~id"}
	want := []string{`bucket_by: JSON Pointer "/user/~id": "~i" in token 1 is not an escape (~0 is ~, ~1 is /)`}
	if got := problems(t, ValidateRelease(r)); !reflect.DeepEqual(got, want) {
		t.Errorf("ValidateRelease() = %q, want %q", got, want)
	}
	r.BucketBy = "/user/id"
	if err := ValidateRelease(r); err != nil {
		t.Errorf("ValidateRelease(bucket_by /user/id) = %v, want nil", err)
	}
}
