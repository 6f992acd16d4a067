class OrdersController < ApplicationController
  def index
    @orders = Order.order(created_at: :desc).limit(20)
  end

  def create
    order = Order.create!(total_cents: params.require(:total_cents))
    OrderTotalJob.perform_later(order.id)
    redirect_to orders_path
  end
end
