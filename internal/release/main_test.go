package release_test

import (
	"os"
	"testing"

	"github.com/switchyard/switchyard/internal/domain/domaintest"
)

func TestMain(m *testing.M) { os.Exit(domaintest.Main(m)) }
