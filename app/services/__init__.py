"""Use cases. Each public function owns its transaction; none takes a request object."""
