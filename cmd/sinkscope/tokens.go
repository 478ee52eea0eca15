package main

import (
	"errors"

	"github.com/spf13/cobra"
)

func newTokensCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "tokens",
		Short: "(tokens: under construction)",
		RunE: func(*cobra.Command, []string) error {
			return errors.New("tokens: not built yet")
		},
	}
}
