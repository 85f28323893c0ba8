package domain

import "github.com/switchyard/switchyard/internal/model"

// SetValidate replaces the document validator of s, so tests can make a
// change invalid independently of model.Validate.
func SetValidate(s *Store, validate func(*model.Document) error) {
	s.writer <- struct{}{}
	defer func() { <-s.writer }()
	s.validate = validate
}

// Hold takes s's writer token, as its follower or an Update holds it,
// until release: Changes of other processes wait for it.
func Hold(s *Store) (release func()) {
	s.writer <- struct{}{}
	return func() { <-s.writer }
}
