# GET /up: 200 when the app booted and reaches its database.
class HealthController < ActionController::Base
  def show
    ActiveRecord::Base.connection.select_value("SELECT 1")
    render plain: "ok"
  rescue StandardError => e
    render plain: e.class.name, status: :service_unavailable
  end

  # GET /slow?seconds=N (at most 10): a request that is still in flight
  # when a deploy stops its task, for the zero-downtime probe.
  def slow
    sleep [params.fetch(:seconds, 2).to_f, 10].min
    render plain: "slow"
  end
end
