package sdk

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"slices"

	sdkpb "github.com/switchyard/switchyard/internal/gen/switchyard/v1/sdkpb"
	"github.com/switchyard/switchyard/internal/model"
	"github.com/switchyard/switchyard/internal/section"
)

// start loads what the client can evaluate on before the server answers:
// the cache file if it is readable, else the bootstrap document. A broken
// bootstrap document is an error of New, even when the cache file is used;
// a missing or unreadable cache file is not.
func (c *Client) start(ctx context.Context) error {
	var boot *sdkpb.Ruleset
	if len(c.cfg.Bootstrap) > 0 {
		var err error
		if boot, err = bootstrapRuleset(c.cfg.Bootstrap, c.cfg.BootstrapEnvironment); err != nil {
			return err
		}
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("sdk: %w", err)
	}
	if c.cfg.CacheFile != "" && !c.cfg.offline() {
		err := c.loadCache()
		if err == nil {
			return nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			c.log.Warn("cache file not used", "file", c.cfg.CacheFile, "err", err)
		}
	}
	if boot == nil {
		return nil
	}
	if err := c.install(boot); err != nil {
		return fmt.Errorf("sdk: bootstrap document: %w", err)
	}
	return nil
}

// loadCache installs the cache file's ruleset.
func (c *Client) loadCache() error {
	msg, err := readCache(c.cfg.CacheFile, c.cfg.SDKKey)
	if err != nil {
		return err
	}
	if err := c.install(msg); err != nil {
		return fmt.Errorf("cache file %s: %w", c.cfg.CacheFile, err)
	}
	c.log.Info("evaluating on the cache file until the server answers", "file", c.cfg.CacheFile, "revision", msg.GetRevision())
	return nil
}

// install applies a ruleset read locally, in New (so no OnChange listener
// can be registered yet), and sets the status: READY for an offline
// client, else STALE until the server answers.
func (c *Client) install(msg *sdkpb.Ruleset) error {
	if _, _, err := c.applyRuleset(msg); err != nil {
		return err
	}
	if c.cfg.offline() {
		c.setStatus(StatusReady, nil)
	} else {
		c.setStatus(StatusStale, errors.New("not connected to the server yet"))
	}
	return nil
}

// bootstrapRuleset turns a bootstrap document into the ruleset message the
// server would send for it, at revision 0.
func bootstrapRuleset(data []byte, env string) (*sdkpb.Ruleset, error) {
	doc, err := model.Parse(data)
	if err != nil {
		return nil, fmt.Errorf("sdk: bootstrap document: %w", err)
	}
	if err := model.Validate(doc); err != nil {
		return nil, fmt.Errorf("sdk: bootstrap document: %w", err)
	}
	if env == "" {
		if len(doc.Environments) != 1 {
			return nil, fmt.Errorf("sdk: bootstrap document has environments %v: set BootstrapEnvironment", doc.Environments)
		}
		env = doc.Environments[0]
	}
	if !slices.Contains(doc.Environments, env) {
		return nil, fmt.Errorf("sdk: bootstrap document has no environment %q (it has %v)", env, doc.Environments)
	}
	msg, err := rulesetOf(doc, env, nil)
	if err != nil {
		return nil, fmt.Errorf("sdk: bootstrap document: %w", err)
	}
	return msg, nil
}

// rulesetOf is the ruleset message, at revision 0 and with every section,
// of environment env of doc with the given overlays.
func rulesetOf(doc *model.Document, env string, overlays []*model.Overlay) (*sdkpb.Ruleset, error) {
	secs, err := section.Encode(doc, env, overlays)
	if err != nil {
		return nil, err
	}
	msg := &sdkpb.Ruleset{Project: doc.Project, Environment: env}
	for _, s := range secs {
		ref := &sdkpb.SectionRef{Kind: sdkpb.SectionKind(s.Kind), Key: s.Key, Hash: s.Hash[:]}
		msg.Manifest = append(msg.Manifest, ref)
		msg.Sections = append(msg.Sections, &sdkpb.Section{Ref: ref, Payload: s.Payload})
	}
	return msg, nil
}
