// Package buildinfo reports what binary is running: the module version, the
// VCS commit and the Go version, read once from runtime/debug.ReadBuildInfo.
package buildinfo

import (
	"runtime"
	"runtime/debug"
	"sync"
)

// Info describes the running build. Fields that the build did not record
// read "unknown" (Version "(devel)" for a build inside the module's own tree).
type Info struct {
	Version   string `json:"version"`    // main module version, e.g. v1.2.0 or (devel)
	Commit    string `json:"commit"`     // vcs.revision, with "-dirty" when vcs.modified
	GoVersion string `json:"go_version"` // the toolchain that built the binary
}

var read = sync.OnceValue(func() Info {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return fromBuildInfo(nil)
	}
	return fromBuildInfo(bi)
})

// Get returns the running binary's build information. It never fails: a
// binary built without module support reports "unknown" fields and the
// runtime's Go version.
func Get() Info { return read() }

// fromBuildInfo extracts Info from bi, which may be nil.
func fromBuildInfo(bi *debug.BuildInfo) Info {
	info := Info{Version: "unknown", Commit: "unknown", GoVersion: runtime.Version()}
	if bi == nil {
		return info
	}
	if v := bi.Main.Version; v != "" {
		info.Version = v
	}
	if bi.GoVersion != "" {
		info.GoVersion = bi.GoVersion
	}
	var modified bool
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			info.Commit = s.Value
		case "vcs.modified":
			modified = s.Value == "true"
		}
	}
	if modified && info.Commit != "unknown" {
		info.Commit += "-dirty"
	}
	return info
}
