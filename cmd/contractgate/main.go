// Command contractgate is the contract-first API gateway.
//
//	contractgate [serve] [--config FILE]                        run the gateway (default)
//	contractgate token [--subject S] [--scopes "a b"] [--ttl D]  print a development JWT
//	contractgate init --name NAME [--force]                     replace the storefront with an app of one's own
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/contractgate/contractgate/internal/app"
	"github.com/contractgate/contractgate/internal/engine/auth"
	"github.com/contractgate/contractgate/internal/engine/config"
	"github.com/contractgate/contractgate/internal/engine/contract"
	"github.com/contractgate/contractgate/internal/engine/logging"
	"github.com/contractgate/contractgate/internal/engine/server"
	"github.com/contractgate/contractgate/internal/tooling/initapp"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "contractgate:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	cmd := "serve"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, args = args[0], args[1:]
	}
	fs := flag.NewFlagSet("contractgate "+cmd, flag.ContinueOnError)
	configPath := fs.String("config", os.Getenv("CONTRACTGATE_CONFIG"), "config file (YAML); default: the embedded demo config")
	subject := fs.String("subject", "alice", "token: the token's subject")
	scopes := fs.String("scopes", "", "token: space-separated scopes (default: every scope the contract's security declares)")
	ttl := fs.Duration("ttl", 0, "token: lifetime (default auth.devToken.ttl)")
	name := fs.String("name", "", "init: the new app's name (lower-case letters, digits, dashes)")
	force := fs.Bool("force", false, "init: replace an app that is not the storefront")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if cmd == "init" {
		return initapp.Run(initapp.Options{Root: ".", Name: *name, Force: *force}, os.Stdout)
	}
	cfg, err := config.Load(*configPath, os.Environ(), app.Config)
	if err != nil {
		return err
	}
	switch cmd {
	case "token":
		granted := strings.Fields(*scopes)
		if *scopes == "" {
			doc, err := contract.Load(app.App().Contracts, "openapi.yaml")
			if err != nil {
				return err
			}
			granted = auth.ContractScopes(doc)
		}
		tok, err := auth.IssueDevToken(cfg.Auth, *subject, granted, *ttl)
		if err != nil {
			return err
		}
		fmt.Println(tok)
		return nil
	case "serve":
		out := logging.NewBuffered(os.Stdout) // one write per 100 ms, not per log line
		defer func() { _ = out.Close() }()    // flushes the last lines
		logger, level := logging.NewLeveled(cfg.Log, out)
		srv, err := server.New(cfg, app.App(), logger,
			server.WithConfigFile(*configPath, os.Environ(), app.Config), server.WithLogLevel(level))
		if err != nil {
			return err
		}
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		context.AfterFunc(ctx, stop) // draining: a second signal stops the process at once
		// SIGHUP reloads the configuration (and the TLS pair, server.tls).
		hup := make(chan os.Signal, 1)
		signal.Notify(hup, syscall.SIGHUP)
		defer signal.Stop(hup)
		go func() {
			for {
				select {
				case <-ctx.Done():
					return
				case <-hup:
					_ = srv.Reload() // logged and counted by the server
				}
			}
		}()
		return srv.Run(ctx)
	}
	return fmt.Errorf("unknown command %q (serve, token, init)", cmd)
}
