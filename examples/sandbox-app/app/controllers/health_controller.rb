# GET /up: 200 when the app booted and reaches its database.
class HealthController < ActionController::Base
  def show
    ActiveRecord::Base.connection.select_value("SELECT 1")
    render plain: "ok"
  rescue StandardError => e
    render plain: e.class.name, status: :service_unavailable
  end
end
