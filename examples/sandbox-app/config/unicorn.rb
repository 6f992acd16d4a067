# unicorn for the web task: nginx in the same task proxies to 8080.
worker_processes Integer(ENV.fetch("WEB_CONCURRENCY", 2))
listen 8080
timeout 30
preload_app true

# ECS stops a container with SIGTERM, which unicorn treats as "quit now"
# (in-flight requests are cut), and the app image is sidekiq's too, whose
# graceful stop is SIGTERM: the image cannot carry STOPSIGNAL SIGQUIT.
# So the master turns TERM into QUIT (finish the requests, then exit) and
# the workers ignore TERM and wait for the master's QUIT; the container's
# stopTimeout must exceed the longest request.
before_fork do |_server, _worker|
  Signal.trap("TERM") do
    # (a Logger cannot write from a trap handler)
    $stderr.syswrite("unicorn master: SIGTERM from ECS, stopping gracefully (SIGQUIT)\n")
    Process.kill("QUIT", Process.pid)
  end
  ActiveRecord::Base.connection_pool.disconnect! if defined?(ActiveRecord::Base)
end

after_fork do |_server, _worker|
  Signal.trap("TERM") {} # the master's QUIT stops this worker after its request
  ActiveRecord::Base.establish_connection if defined?(ActiveRecord::Base)
end
