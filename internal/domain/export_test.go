package domain

import "github.com/switchyard/switchyard/internal/model"

// SetValidate replaces the document validator of s, so tests can make a
// change invalid independently of model.Validate.
func SetValidate(s *Store, validate func(*model.Document) error) {
	s.writer <- struct{}{}
	defer func() { <-s.writer }()
	s.validate = validate
}
