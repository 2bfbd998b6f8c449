"""Operations: request ids and the per-request context (`request_ids`), log configuration
(`logs`), Prometheus metrics (`metrics`, `middleware`, `exposition`, `multiprocess`) and the
per-process gauges (`gauges`). Import the submodules: importing `metrics` fixes Prometheus'
mode for the process, so nothing here imports it implicitly."""
