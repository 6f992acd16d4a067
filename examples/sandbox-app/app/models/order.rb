class Order < ApplicationRecord
  validates :total_cents, numericality: { only_integer: true, greater_than_or_equal_to: 0 }

  def total
    total_cents / 100.0
  end
end
