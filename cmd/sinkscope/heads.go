package main

import (
	"errors"

	"github.com/spf13/cobra"
)

func newHeadsCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "heads",
		Short: "(heads: under construction)",
		RunE: func(*cobra.Command, []string) error {
			return errors.New("heads: not built yet")
		},
	}
}
