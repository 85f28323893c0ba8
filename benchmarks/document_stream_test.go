package benchmarks

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/switchyard/switchyard/internal/model"
	"github.com/switchyard/switchyard/server/servertest"
)

// BenchmarkDocumentStream measures `switchyard import` and `switchyard
// export` (the CLI binary against a real server) of a document whose
// segment includes 1,000,000 keys: the list travels as a streamed part of
// the import and a streamed text download of the export. One iteration is
// one whole import (replacing every key, the iterations alternate two key
// sets) or one whole export.
func BenchmarkDocumentStream(b *testing.B) {
	dir := b.TempDir()
	bin := filepath.Join(dir, "switchyard")
	if out, err := exec.Command("go", "build", "-o", bin, "../cmd/switchyard").CombinedOutput(); err != nil {
		b.Fatalf("build the CLI: %v\n%s", err, out)
	}
	var files [2]string
	for i, prefix := range []string{"user-a-", "user-b-"} {
		keys := make([]string, bigList)
		for j := range keys {
			keys[j] = fmt.Sprintf("%s%07d", prefix, j)
		}
		doc := &model.Document{Version: 1, Project: "default", Environments: []string{"production", "staging"},
			Segments: []*model.Segment{{Key: "big", Include: keys}}}
		data, err := model.Encode(doc, "json")
		if err != nil {
			b.Fatal(err)
		}
		files[i] = filepath.Join(dir, fmt.Sprintf("doc-%d.json", i))
		if err := os.WriteFile(files[i], data, 0o600); err != nil {
			b.Fatal(err)
		}
	}
	srv := servertest.Start(b, servertest.Options{Path: filepath.Join(b.TempDir(), "switchyard.db")})
	cli := func(b *testing.B, command string, args ...string) {
		cmd := exec.Command(bin, append([]string{command, "--server", srv.HTTPURL, "--token", srv.Creds.AdminToken}, args...)...)
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("switchyard %s %v: %v\n%.2000s", command, args, err, out)
		}
	}
	b.Run("import", func(b *testing.B) {
		for i := range b.N {
			cli(b, "import", files[i%2])
		}
	})
	// The export reads back the last import.
	b.Run("export", func(b *testing.B) {
		for range b.N {
			cli(b, "export", "--project", "default", "--format", "json")
		}
	})
}
