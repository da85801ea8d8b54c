"""The end-to-end demo: simulator → gateways → cloud → SMS and push, with a live timeline."""
