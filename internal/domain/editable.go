package domain

import (
	"encoding/json"
	"fmt"
)

// Editable reads the item id of a project as tx sees it, for a change:
// it returns the project, a private deep copy of the item (the published
// one is shared and must not be modified) and the item's etag. get reads
// the item from a project and name gives its resource name for errors. A
// missing project or item is ErrNotFound; a non-empty etag that is not the
// item's is ErrConflict.
func Editable[T any](tx *Tx, project, id, etag string, get func(*ProjectState, string) (*T, Meta, bool), name func(project, id string) string) (*ProjectState, *T, string, error) {
	ps, ok := tx.Project(project)
	if !ok {
		return nil, nil, "", fmt.Errorf("%s: %w", ProjectName(project), ErrNotFound)
	}
	cur, meta, ok := get(ps, id)
	if !ok {
		return nil, nil, "", fmt.Errorf("%s: %w", name(project, id), ErrNotFound)
	}
	if etag != "" && etag != meta.Etag {
		return nil, nil, "", fmt.Errorf("%s: %w", name(project, id), ErrConflict)
	}
	data, err := json.Marshal(cur)
	if err != nil {
		return nil, nil, "", fmt.Errorf("copy %s: %w", name(project, id), err)
	}
	out := new(T)
	if err := json.Unmarshal(data, out); err != nil {
		return nil, nil, "", fmt.Errorf("copy %s: %w", name(project, id), err)
	}
	return ps, out, meta.Etag, nil
}
